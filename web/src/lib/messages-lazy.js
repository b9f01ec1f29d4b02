// The messages of the case pages and the report form, kept out of the
// catalogue the pages load first (build.mjs, split-messages): importing this
// module adds them. Import it before using t() for a report., case. or mine. key.
import zhCN from "../i18n/zh-CN.json?lazy";
import en from "../i18n/en.json?lazy";
import { addMessages } from "./i18n.js";

addMessages({ "zh-CN": zhCN, en });
