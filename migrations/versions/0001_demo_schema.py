"""Demo schema: tickers, daily prices, quarterly fundamentals, news.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tickers",
        sa.Column("symbol", sa.String(16), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("sector", sa.String(64), nullable=False),
        sa.Column("industry", sa.String(100), nullable=False),
        sa.Column("exchange", sa.String(16), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("country", sa.String(64), nullable=False),
        sa.Column("employees", sa.Integer, nullable=False),
        sa.Column("ipo_date", sa.Date, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
    )
    op.create_index("ix_tickers_sector", "tickers", ["sector"])
    op.create_table(
        "prices",
        sa.Column("symbol", sa.String(16), sa.ForeignKey("tickers.symbol"), nullable=False),
        sa.Column("date", sa.Date, nullable=False),
        sa.Column("open", sa.Float, nullable=False),
        sa.Column("high", sa.Float, nullable=False),
        sa.Column("low", sa.Float, nullable=False),
        sa.Column("close", sa.Float, nullable=False),
        sa.Column("volume", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("symbol", "date"),
    )
    op.create_index("ix_prices_date", "prices", ["date"])
    op.create_table(
        "fundamentals",
        sa.Column("symbol", sa.String(16), sa.ForeignKey("tickers.symbol"), nullable=False),
        sa.Column("period_end", sa.Date, nullable=False),
        sa.Column("fiscal_year", sa.Integer, nullable=False),
        sa.Column("fiscal_quarter", sa.Integer, nullable=False),
        sa.Column("revenue", sa.Numeric(20, 2), nullable=False),
        sa.Column("gross_profit", sa.Numeric(20, 2), nullable=False),
        sa.Column("net_income", sa.Numeric(20, 2), nullable=False),
        sa.Column("eps", sa.Numeric(12, 4), nullable=False),
        sa.Column("total_assets", sa.Numeric(20, 2), nullable=False),
        sa.Column("total_debt", sa.Numeric(20, 2), nullable=False),
        sa.Column("shares_outstanding", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("symbol", "period_end"),
    )
    op.create_table(
        "news",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("symbol", sa.String(16), sa.ForeignKey("tickers.symbol"), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("excerpt", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
    )
    op.create_index("ix_news_symbol_published", "news", ["symbol", "published_at"])
    op.create_table(
        "demo_info",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(200), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("demo_info")
    op.drop_index("ix_news_symbol_published", table_name="news")
    op.drop_table("news")
    op.drop_table("fundamentals")
    op.drop_index("ix_prices_date", table_name="prices")
    op.drop_table("prices")
    op.drop_index("ix_tickers_sector", table_name="tickers")
    op.drop_table("tickers")
