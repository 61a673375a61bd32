"""Records of what went out: the BagIt archive a records officer keeps (:mod:`.archive`)."""
