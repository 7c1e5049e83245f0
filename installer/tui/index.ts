// The interactive installer's text UI: what installer/runtime/main.ts calls when
// the command line asks for no unattended install.
export { runInteractiveInstall, type InteractiveAnswers, type InteractiveIo, type InteractiveResult, type RunOptions } from './run.ts';
export {
  KEYMAPS, supportsManagementVlan,
  type CheckResult, type Detection, type DetectedBackup, type DetectedInstallation, type InteractiveSetup,
  type TuiCallbacks, type TuiContext, type TuiData, type TuiDisk, type TuiNic,
} from './context.ts';
export { answerFileToSave, buildConfig, buildSetup } from './config.ts';
export { INSTALLER_EULA, ZONEINFO_DIR, readEula, readTimezones, zoneNamesFromTab } from './system.ts';
