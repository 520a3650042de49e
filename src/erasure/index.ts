export {
  DEFAULT_ERASE_WAIT_MS,
  eraseUser,
  type EraseProgress,
  type EraseStep,
  type EraseUserOptions,
  type EraseUserParams,
  type EraseUserResult,
} from "./erase-user.js";
