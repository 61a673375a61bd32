"""Video: probing, caption files, per-platform renders and cover frames, all with PyAV.

PyAV's wheels carry FFmpeg's libraries, so nothing is installed system-wide and no
``ffmpeg`` program is ever run. The command line imports this package lazily: ``av`` is a
heavy import. Modules: ``probe`` (what a file is, bounded and fail-fast), ``captions``
(SRT and WebVTT parsed and checked), ``plan`` (what a platform needs done to a source),
``transcode`` (frame-by-frame decode, filter, encode) and ``cover`` (the still shown
before playing, made with the image pipeline).
"""
