/** Per-step wall times of lifecycle calls and pulls, logged at FINE so benchmarks can explain their figures. */
package dev.berth.core.timing;
