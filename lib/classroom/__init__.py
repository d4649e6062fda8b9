"""Teaching views: pooling, the model ladder, the lesson, simulation."""
