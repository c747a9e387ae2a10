/** Per-step wall times of lifecycle calls, logged at FINE so benchmarks can explain their figures. */
package dev.berth.runtime.timing;
