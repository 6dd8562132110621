"""function-modelapi: a Crossplane composition function for ModelAPI endpoints."""
