"""Pre-training has no evaluation task: its weights are judged by the methods that start from them."""

TASKS: dict = {}
