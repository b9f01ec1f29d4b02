// The grid worker's page's messages (work.*), kept out of the catalogue the
// other pages load first (build.mjs, split-messages): importing this module
// adds them. /work imports it before anything uses t().
import zhCN from "../i18n/zh-CN.json?work";
import en from "../i18n/en.json?work";
import { addMessages } from "./i18n.js";

addMessages({ "zh-CN": zhCN, en });
