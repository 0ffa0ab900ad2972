// The tool's version, recorded in every manifest and drill report.
export const VERSION = '0.1.0';
