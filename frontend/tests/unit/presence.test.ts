import { describe, expect, it } from "vitest";
import { applyPresenceEvent, onCourse, onlineFromList } from "@/lib/hub/presence";

describe("presence", () => {
  it("reads the hub's list without me, with what each reported", () => {
    const online = onlineFromList(
      [{ userId: 3, activity: { courseId: 7, sectionId: "ch1-s2", at: "…" } }, { userId: 5 }, { userId: 9 }, { nope: 1 }],
      9,
    );
    expect(online).toEqual({ 3: { courseId: 7, sectionId: "ch1-s2" }, 5: null });
  });
  it("follows join, activity and leave; ignores me and nonsense", () => {
    let online = onlineFromList([], 1);
    online = applyPresenceEvent(online, { kind: "join", userId: 4 }, 1);
    online = applyPresenceEvent(online, { kind: "join", userId: 1 }, 1);
    expect(online).toEqual({ 4: null });
    online = applyPresenceEvent(online, { kind: "activity", userId: 4, activity: { courseId: 12 } }, 1);
    expect(onCourse(online, 12)).toBe(1);
    expect(onCourse(online, 12, [4])).toBe(0);
    const same = applyPresenceEvent(online, { kind: "join", userId: 4 }, 1);
    expect(same).toBe(online);
    online = applyPresenceEvent(online, { kind: "leave", userId: 4 }, 1);
    expect(online).toEqual({});
    expect(applyPresenceEvent(online, "garbage", 1)).toBe(online);
  });
});
