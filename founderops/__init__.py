"""FounderOps: the AI operations team for a one-person SaaS business."""

__version__ = "0.1.0"
