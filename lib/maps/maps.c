/* maps - placeholder until the module lands */
