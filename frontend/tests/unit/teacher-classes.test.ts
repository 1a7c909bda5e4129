import { describe, expect, it } from "vitest";
import { currentSchoolYear, heatClass, progressGrid } from "@/app/enseignant/classes";

describe("teacher classes helpers", () => {
  it("gives the school year starting in August", () => {
    expect(currentSchoolYear(new Date(2026, 11, 2))).toBe("2026-2027");
    expect(currentSchoolYear(new Date(2027, 2, 10))).toBe("2026-2027");
    expect(currentSchoolYear(new Date(2027, 7, 20))).toBe("2027-2028");
  });

  it("builds the students × courses grid and each student's last activity", () => {
    const grid = progressGrid({
      courses: [
        { id: 3, title: "Récursivité" },
        { id: 7, title: "Arbres" },
      ],
      students: [
        { id: 1, lastAccessed: "2026-12-02T09:00:00Z", progress: [50, 0] },
        { id: 2, lastAccessed: null, progress: [100, 0] },
      ],
    });
    expect(grid.courses.map((c) => c.title)).toEqual(["Arbres", "Récursivité"]);
    expect(grid.cell(1, 3)).toBe(50);
    expect(grid.cell(2, 3)).toBe(100);
    expect(grid.cell(2, 7)).toBe(0);
    expect(grid.cell(3, 3)).toBeNull();
    expect(grid.cell(1, 9)).toBeNull();
    expect(grid.lastActivity(1)).toBe("2026-12-02T09:00:00Z");
    expect(grid.lastActivity(2)).toBeNull();
    expect(progressGrid(undefined).courses).toEqual([]);
  });

  it("shades the heatmap by progress", () => {
    expect(heatClass(0)).toContain("bg-slate-100");
    expect(heatClass(10)).toContain("bg-emerald-100");
    expect(heatClass(50)).toContain("bg-emerald-300");
    expect(heatClass(80)).toContain("bg-emerald-500");
    expect(heatClass(100)).toContain("bg-emerald-700");
  });
});
