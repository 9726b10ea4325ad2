"""veiligheidsbeeld: analytics pipeline for regional crime and safety statistics (Oost-Nederland)."""

__version__ = "0.1.0"
