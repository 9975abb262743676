/*
---
widget: false
description: Tickers for dropdowns, optionally only those of one sector.
params:
  - paramName: sector
    type: text
    value: ""
---
*/
-- Options queries return `value` and `label`; `description` becomes the option's extraInfo.
SELECT symbol AS value,
       symbol || ' - ' || name AS label,
       sector AS description
FROM tickers
WHERE :sector = '' OR sector = :sector
ORDER BY symbol
