"""Model files and thin synchronous wrappers: numpy in, numpy out, no asyncio.

Each wrapper holds state for one stream; callers run it on their own single-thread executor.
"""
