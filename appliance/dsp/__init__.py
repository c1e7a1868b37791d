"""Line DSP: DTMF receiver, tone generator, call-progress tones, caller ID, the streaming chain.

The signal processing is C (``native/``, compiled by cffi into ``appliance._native``);
these modules give each detector a streaming state object fed 16-bit PCM chunks.
"""
