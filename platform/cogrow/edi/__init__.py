"""EDI in and out: X12 and EDIFACT messages mapped onto forecasts, orders, acknowledgements and ASNs."""
