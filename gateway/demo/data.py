"""A deterministic, synthetic market dataset for the demo (no network, no randomness left).

Company names, sectors and exchanges are public facts; every price, fundamental and news item
is generated from a seeded random walk. The same ``as_of`` date always gives the same rows.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

SEED = 20_261_125
YEARS = 10

# symbol, name, sector, industry, exchange, employees (thousands), ipo year, start price
COMPANIES: tuple[tuple[str, str, str, str, str, int, int, float], ...] = (
    ("AAPL", "Apple Inc.", "Technology", "Consumer Electronics", "NASDAQ", 161, 1980, 24.0),
    ("MSFT", "Microsoft Corporation", "Technology", "Software", "NASDAQ", 221, 1986, 55.0),
    ("NVDA", "NVIDIA Corporation", "Technology", "Semiconductors", "NASDAQ", 29, 1999, 8.0),
    ("ORCL", "Oracle Corporation", "Technology", "Software", "NYSE", 164, 1986, 36.0),
    ("ADBE", "Adobe Inc.", "Technology", "Software", "NASDAQ", 29, 1986, 92.0),
    ("CSCO", "Cisco Systems, Inc.", "Technology", "Networking", "NASDAQ", 84, 1990, 25.0),
    ("INTC", "Intel Corporation", "Technology", "Semiconductors", "NASDAQ", 124, 1971, 33.0),
    ("AMD", "Advanced Micro Devices, Inc.", "Technology", "Semiconductors", "NASDAQ", 26, 1972, 3.0),
    ("GOOGL", "Alphabet Inc.", "Communication Services", "Internet", "NASDAQ", 182, 2004, 38.0),
    ("META", "Meta Platforms, Inc.", "Communication Services", "Internet", "NASDAQ", 67, 2012, 100.0),
    ("NFLX", "Netflix, Inc.", "Communication Services", "Entertainment", "NASDAQ", 13, 2002, 110.0),
    ("DIS", "The Walt Disney Company", "Communication Services", "Entertainment", "NYSE", 225, 1957, 100.0),
    ("VZ", "Verizon Communications Inc.", "Communication Services", "Telecom", "NYSE", 105, 1983, 45.0),
    ("AMZN", "Amazon.com, Inc.", "Consumer Discretionary", "Internet Retail", "NASDAQ", 1525, 1997, 32.0),
    ("TSLA", "Tesla, Inc.", "Consumer Discretionary", "Automobiles", "NASDAQ", 140, 2010, 15.0),
    ("HD", "The Home Depot, Inc.", "Consumer Discretionary", "Home Improvement", "NYSE", 463, 1981, 130.0),
    ("NKE", "NIKE, Inc.", "Consumer Discretionary", "Apparel", "NYSE", 83, 1980, 60.0),
    ("MCD", "McDonald's Corporation", "Consumer Discretionary", "Restaurants", "NYSE", 150, 1965, 118.0),
    ("SBUX", "Starbucks Corporation", "Consumer Discretionary", "Restaurants", "NASDAQ", 381, 1992, 58.0),
    ("PG", "The Procter & Gamble Company", "Consumer Staples", "Household Products", "NYSE", 107, 1950, 80.0),
    ("KO", "The Coca-Cola Company", "Consumer Staples", "Beverages", "NYSE", 79, 1919, 42.0),
    ("PEP", "PepsiCo, Inc.", "Consumer Staples", "Beverages", "NASDAQ", 318, 1972, 98.0),
    ("WMT", "Walmart Inc.", "Consumer Staples", "Discount Stores", "NYSE", 2100, 1972, 20.0),
    ("COST", "Costco Wholesale Corp.", "Consumer Staples", "Discount Stores", "NASDAQ", 316, 1985, 150.0),
    ("JPM", "JPMorgan Chase & Co.", "Financials", "Banks", "NYSE", 309, 1969, 60.0),
    ("BAC", "Bank of America Corporation", "Financials", "Banks", "NYSE", 213, 1973, 14.0),
    ("WFC", "Wells Fargo & Company", "Financials", "Banks", "NYSE", 226, 1978, 50.0),
    ("GS", "The Goldman Sachs Group, Inc.", "Financials", "Capital Markets", "NYSE", 45, 1999, 160.0),
    ("V", "Visa Inc.", "Financials", "Payments", "NYSE", 29, 2008, 75.0),
    ("MA", "Mastercard Incorporated", "Financials", "Payments", "NYSE", 33, 2006, 90.0),
    ("BRK.B", "Berkshire Hathaway Inc.", "Financials", "Insurance", "NYSE", 396, 1996, 130.0),
    ("JNJ", "Johnson & Johnson", "Healthcare", "Pharmaceuticals", "NYSE", 131, 1944, 100.0),
    ("PFE", "Pfizer Inc.", "Healthcare", "Pharmaceuticals", "NYSE", 88, 1942, 32.0),
    ("MRK", "Merck & Co., Inc.", "Healthcare", "Pharmaceuticals", "NYSE", 72, 1946, 52.0),
    ("UNH", "UnitedHealth Group Incorporated", "Healthcare", "Health Insurance", "NYSE", 440, 1984, 115.0),
    ("ABBV", "AbbVie Inc.", "Healthcare", "Pharmaceuticals", "NYSE", 50, 2013, 57.0),
    ("LLY", "Eli Lilly and Company", "Healthcare", "Pharmaceuticals", "NYSE", 43, 1970, 80.0),
    ("XOM", "Exxon Mobil Corporation", "Energy", "Oil & Gas", "NYSE", 62, 1920, 78.0),
    ("CVX", "Chevron Corporation", "Energy", "Oil & Gas", "NYSE", 45, 1921, 95.0),
    ("COP", "ConocoPhillips", "Energy", "Oil & Gas", "NYSE", 10, 2002, 45.0),
    ("SLB", "Schlumberger Limited", "Energy", "Oil Services", "NYSE", 111, 1962, 68.0),
    ("BA", "The Boeing Company", "Industrials", "Aerospace", "NYSE", 171, 1962, 130.0),
    ("CAT", "Caterpillar Inc.", "Industrials", "Machinery", "NYSE", 113, 1929, 68.0),
    ("GE", "General Electric Company", "Industrials", "Conglomerates", "NYSE", 125, 1892, 29.0),
    ("UPS", "United Parcel Service, Inc.", "Industrials", "Logistics", "NYSE", 500, 1999, 96.0),
    ("HON", "Honeywell International Inc.", "Industrials", "Conglomerates", "NASDAQ", 95, 1970, 100.0),
    ("LIN", "Linde plc", "Materials", "Chemicals", "NASDAQ", 66, 1992, 140.0),
    ("NEM", "Newmont Corporation", "Materials", "Gold", "NYSE", 15, 1940, 17.0),
    ("NEE", "NextEra Energy, Inc.", "Utilities", "Utilities", "NYSE", 16, 1950, 26.0),
    ("DUK", "Duke Energy Corporation", "Utilities", "Utilities", "NYSE", 27, 1961, 70.0),
    ("AMT", "American Tower Corporation", "Real Estate", "REITs", "NYSE", 6, 1998, 98.0),
    ("PLD", "Prologis, Inc.", "Real Estate", "REITs", "NYSE", 2, 1997, 42.0),
)  # fmt: skip

_NEWS_TEMPLATES = (
    ("{name} beats quarterly estimates", "Revenue and earnings came in ahead of consensus."),
    ("{name} announces share buyback", "The board approved a new repurchase programme."),
    ("Analysts upgrade {symbol}", "A broker raised its rating on improving margins."),
    ("{name} faces supply constraints", "Management flagged tight supply into next quarter."),
    ("{name} names new chief financial officer", "The appointment takes effect next month."),
    ("{symbol} shares slip after guidance", "Guidance for the year was trimmed slightly."),
    ("{name} expands in {sector_lower}", "A new partnership widens its addressable market."),
)
_AUTHORS = ("Market Desk", "A. Rivera", "J. Chen", "S. Patel", "M. Okafor", "L. Novak")


@dataclass(frozen=True, slots=True)
class Dataset:
    as_of: date
    tickers: list[tuple[object, ...]]
    prices: list[tuple[object, ...]]
    fundamentals: list[tuple[object, ...]]
    news: list[tuple[object, ...]]


def business_days(end: date, years: int) -> list[date]:
    start = date(end.year - years, end.month, min(end.day, 28))
    days, day = [], start
    while day <= end:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def generate(as_of: date) -> Dataset:
    """Build every row of the demo dataset for data ending on ``as_of``."""
    days = business_days(as_of, YEARS)
    tickers: list[tuple[object, ...]] = []
    prices: list[tuple[object, ...]] = []
    fundamentals: list[tuple[object, ...]] = []
    news: list[tuple[object, ...]] = []
    for index, company in enumerate(COMPANIES):
        symbol, name, sector, industry, exchange, staff, ipo_year, start = company
        rng = random.Random(f"{SEED}:{symbol}")  # noqa: S311 - synthetic data, not security
        tickers.append(
            (
                symbol,
                name,
                sector,
                industry,
                exchange,
                "USD",
                "United States",
                staff * 1000,
                date(ipo_year, 1 + index % 12, 1 + index % 28),
                f"{name} is a {industry.lower()} company in the {sector} sector. "
                "Figures in this demo are synthetic.",
            )
        )
        closes = list(_price_path(rng, days, start, prices, symbol))
        fundamentals.extend(_fundamentals(rng, symbol, as_of, closes[-1]))
        news.extend(_news(rng, company, as_of, first_id=len(news) + 1))
    return Dataset(as_of, tickers, prices, fundamentals, news)


def _price_path(
    rng: random.Random, days: list[date], start: float, out: list[tuple[object, ...]], symbol: str
) -> Iterator[float]:
    drift, vol = rng.uniform(0.02, 0.18), rng.uniform(0.15, 0.45)
    daily_drift, daily_vol = drift / 252, vol / math.sqrt(252)
    close = start
    base_volume = rng.randint(2, 60) * 1_000_000
    for day in days:
        previous = close
        close = max(0.5, previous * math.exp(rng.gauss(daily_drift, daily_vol)))
        open_ = previous * math.exp(rng.gauss(0, daily_vol / 3))
        high = max(open_, close) * (1 + abs(rng.gauss(0, daily_vol / 2)))
        low = min(open_, close) * (1 - abs(rng.gauss(0, daily_vol / 2)))
        volume = int(base_volume * math.exp(rng.gauss(0, 0.35)))
        out.append((symbol, day, round(open_, 2), round(high, 2), round(low, 2), round(close, 2), volume))
        yield close


def _quarter_ends(as_of: date, count: int) -> list[date]:
    ends = []
    year, quarter = as_of.year, (as_of.month - 1) // 3  # last completed quarter
    for _ in range(count):
        if quarter == 0:
            year, quarter = year - 1, 4
        month = quarter * 3
        next_month = date(year + (month == 12), month % 12 + 1, 1)
        ends.append(next_month - timedelta(days=1))
        quarter -= 1
    return sorted(ends)


def _fundamentals(
    rng: random.Random, symbol: str, as_of: date, last_close: float
) -> list[tuple[object, ...]]:
    shares = rng.randint(300, 8_000) * 1_000_000
    revenue = rng.uniform(2, 60) * 1e9
    margin, net_margin = rng.uniform(0.25, 0.7), rng.uniform(0.04, 0.3)
    rows: list[tuple[object, ...]] = []
    for period_end in _quarter_ends(as_of, YEARS * 4):
        revenue *= math.exp(rng.gauss(0.015, 0.05))
        net = revenue * net_margin * math.exp(rng.gauss(0, 0.15))
        assets = revenue * rng.uniform(3.5, 4.5)
        rows.append(
            (
                symbol,
                period_end,
                period_end.year,
                (period_end.month - 1) // 3 + 1,
                _money(revenue),
                _money(revenue * margin),
                _money(net),
                Decimal(f"{net / shares:.4f}"),
                _money(assets),
                _money(assets * rng.uniform(0.1, 0.5)),
                shares,
            )
        )
    return rows


def _money(value: float) -> Decimal:
    return Decimal(f"{value:.2f}")


def _news(
    rng: random.Random, company: tuple[object, ...], as_of: date, first_id: int
) -> list[tuple[object, ...]]:
    symbol, name, sector = company[0], company[1], str(company[2])
    rows: list[tuple[object, ...]] = []
    for n in range(6):
        title, excerpt = _NEWS_TEMPLATES[rng.randrange(len(_NEWS_TEMPLATES))]
        when = datetime.combine(
            as_of - timedelta(days=rng.randint(0, 60)),
            time(rng.randint(7, 20), rng.choice((0, 15, 30, 45))),
            UTC,
        )
        text = title.format(name=name, symbol=symbol, sector_lower=sector.lower())
        body = f"**{text}.** {excerpt}\n\n- Ticker: `{symbol}`\n- Sector: {sector}\n\n_Synthetic demo story._"
        rows.append((first_id + n, symbol, when, text, rng.choice(_AUTHORS), excerpt, body))
    return rows
