"""The data-race check: plain accesses to shared memory that happens-before does not order.

    detector.py   vector clocks with FastTrack epochs over threads, sync keys and shadow memory
"""

from __future__ import annotations

from .detector import Access, Detector, Race

__all__ = ["Access", "Detector", "Race"]
