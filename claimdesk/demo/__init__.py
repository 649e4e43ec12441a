"""Demo data: three shops, thirty buyers and a few hundred orders built through the services."""
