/* map_lmdb - placeholder until the module lands */
