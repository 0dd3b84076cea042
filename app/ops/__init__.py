"""Running the product on a host: offline switches and the egress guard, `doctor` checks,
the offline bundle and capacity planning. Imports nothing of ui or commands."""
