/*
---
widget: false
description: Sectors for dropdowns.
---
*/
SELECT DISTINCT sector AS value, sector AS label
FROM tickers
ORDER BY sector
