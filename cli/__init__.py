"""The command line: ``failover-cockpit`` and its subcommands. Only ``run``, ``tmux``, ``replay`` and ``train`` load Textual."""
