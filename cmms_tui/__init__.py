"""The technicians' terminal console (speaks HTTP and Socket.IO only; never imports cmms)."""
