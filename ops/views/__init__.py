"""The operators' pages, one module per part of the dashboard: the order list and page (orders),
proofs, shipping, job tickets, and the floor's scan stations."""
