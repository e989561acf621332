"""branchbot: the platform-neutral core and the runtime around it."""
