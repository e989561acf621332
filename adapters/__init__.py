"""One module per platform. Adapters see ``bot.events`` and ``bot.messages`` and nothing else."""
