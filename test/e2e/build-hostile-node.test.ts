import { describeHostileBuilds } from "./build-hostile.js";

describeHostileBuilds("node", "effects");
