"""公文 pipeline: official documents of 吉林省民政厅 from one structured task table."""

__version__ = "0.1.0"
