/* Calibration: activation ranges of a float model over samples. (placeholder until its first implementation lands) */
typedef int ssdc_placeholder_runtime_calibrate_c;
