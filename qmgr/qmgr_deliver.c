/* qmgr_deliver - placeholder until the module lands */
