"""Money across currencies: the prime's monthly exchange rates and totals converted to KRW with them."""
