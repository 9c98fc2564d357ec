/* master_spawn - placeholder until the module lands */
