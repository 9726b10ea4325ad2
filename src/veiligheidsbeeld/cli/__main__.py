"""``python -m veiligheidsbeeld.cli``: the same command as ``veiligheidsbeeld``."""

from veiligheidsbeeld.cli import app

app()
