/* map_db - placeholder until the module lands */
