import { describeHostileBuilds } from "./build-hostile.js";

describeHostileBuilds("python", "limits");
