export { simulationEnvironment, configureSimulation, simulateReboot, simBinDir, simBinRoot, readSimState, readSimConfig } from './environment';
export type { SimulationEnvironment } from './environment';
export { runTool, readSimCalls } from './cli';
export type { ToolOutput, SimCall } from './cli';
export { updateState as updateSimState } from './state';
export type { SimConfig, SimKind, SimPlatform, SimState, SimMachine, SimNetwork } from './state';
