/* queue_id - placeholder until the module lands */
