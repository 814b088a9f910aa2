"""The running service: the tick that plans, delivers and reports; the daemon around it."""
