"""Helpers the tests share: bots to chat with, harnesses, fake servers, ports, databases."""
