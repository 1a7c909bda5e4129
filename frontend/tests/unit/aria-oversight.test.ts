import { describe, expect, it } from "vitest";
import { flagCategory, formatEuros, formatTokens, parseTokens } from "@/lib/aria/oversight";

describe("ARIA oversight helpers", () => {
  it("reads a number of tokens typed the French way", () => {
    expect(parseTokens("12345")).toBe(12345);
    expect(parseTokens("12 345")).toBe(12345);
    expect(parseTokens("12\u202f345")).toBe(12345);
    expect(parseTokens(" 0 ")).toBe(0);
    expect(parseTokens("")).toBeNull();
    expect(parseTokens("beaucoup")).toBeNull();
    expect(parseTokens("-5")).toBeNull();
    expect(parseTokens("1,5")).toBeNull();
    expect(parseTokens("99999999999999999999")).toBeNull();
  });

  it("names the flags' categories in French, and keeps an unknown one", () => {
    expect(flagCategory("self_harm")).toBe("Détresse, idées suicidaires");
    expect(flagCategory("personal_data")).toMatch(/^Données personnelles/);
    expect(flagCategory("harassment/threatening")).toBe("Insultes, harcèlement");
    expect(flagCategory("something_new")).toBe("something_new");
  });

  it("formats tokens and small costs", () => {
    expect(formatTokens(12345).replace(/\s/g, " ")).toBe("12 345");
    expect(formatEuros(0.0123).replace(/\s/g, " ")).toBe("0,0123 €");
    expect(formatEuros(0).replace(/\s/g, " ")).toBe("0,00 €");
  });
});
