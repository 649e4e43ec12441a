"""Operations: the platform sweep that runs every timer, and the `worker` command."""
