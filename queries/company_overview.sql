/*
---
name: Company overview
description: A short Markdown profile of one company with its latest close.
category: Equity
subCategory: Fundamentals
type: markdown
gridData: {w: 16, h: 12}
staleTime: 3600000
params:
  - paramName: ticker
    type: endpoint
    label: Ticker
    optionsQuery: ticker_options
    value: AAPL
markdown: |
  {% if row %}
  ### {{ row.name }} ({{ row.symbol }})

  {{ row.description }}

  | | |
  |---|---|
  | Sector | {{ row.sector }} |
  | Industry | {{ row.industry }} |
  | Exchange | {{ row.exchange }} |
  | Employees | {{ row.employees | number }} |
  | Listed since | {{ row.ipo_date }} |
  | Last close | {{ row.last_close | number(2) }} ({{ row.last_date }}) |
  {% else %}
  No company with ticker {{ params.ticker }}.
  {% endif %}
---
*/
SELECT t.symbol, t.name, t.sector, t.industry, t.exchange, t.employees, t.ipo_date, t.description,
       p.close AS last_close, p.date AS last_date
FROM tickers t
JOIN prices p ON p.symbol = t.symbol
 AND p.date = (SELECT MAX(date) FROM prices WHERE symbol = t.symbol)
WHERE t.symbol = :ticker
