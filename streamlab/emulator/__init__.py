"""A local Lambda Function URL emulator that really streams."""
