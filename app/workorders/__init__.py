"""From incident to work order: drafts built from what an incident recorded, confirmed by a
technician, exported for the plant's CMMS and added to the work-order history."""
