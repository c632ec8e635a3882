"""The liability statement: per relationship and month, what the prime owes if it stops buying, with its evidence."""
