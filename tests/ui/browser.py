"""A headless Chromium (Debian's, driven through its own chromedriver) that fills the
Prefect UI's schema forms the way an operator does: by the titles it shows."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import (
    ElementClickInterceptedException,
    StaleElementReferenceException,
)
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

CHROMIUM = ("chromium", "chromium-browser")
DRIVER = "chromedriver"


def missing() -> str | None:
    """Why no browser can be started here (None: one can)."""
    if not any(shutil.which(name) for name in CHROMIUM):
        return "chromium is not installed (make install-browser)"
    if not shutil.which(DRIVER):
        return "chromedriver is not installed (make install-browser)"
    return None


@contextmanager
def chromium(shots: Path) -> Iterator[Browser]:
    options = Options()
    for arg in (
        "--headless=new",
        "--no-sandbox",  # root in CI containers
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1400,2000",
    ):
        options.add_argument(arg)
    options.binary_location = next(str(shutil.which(n)) for n in CHROMIUM if shutil.which(n))
    driver = webdriver.Chrome(service=Service(str(shutil.which(DRIVER))), options=options)
    driver.implicitly_wait(10)
    shots.mkdir(parents=True, exist_ok=True)
    try:
        yield Browser(driver, shots)
    finally:
        driver.quit()


def _label(text: str) -> str:
    # The UI appends " (Optional)" to the title of a property that is not required.
    return (
        ".//span[contains(@class,'schema-form-property__label') and "
        f"(normalize-space()='{text}' or normalize-space()='{text} (Optional)')]"
        "/ancestor::div[contains(concat(' ',normalize-space(@class),' '),"
        "' schema-form-property ')][1]"
    )


class Browser:
    def __init__(self, driver: webdriver.Chrome, shots: Path) -> None:
        self.driver = driver
        self.shots = shots

    def open(self, url: str, until: str | None = None) -> None:
        """Go to `url`; with `until`, wait for that text on the page (the UI renders late)."""
        self.driver.get(url)
        if until is not None:
            self.wait_for(
                f"'{until}' on {url}",
                lambda: until in self.driver.execute_script("return document.body.innerText"),
            )

    def screenshot(self, name: str, scroll_to: WebElement | None = None) -> Path:
        if scroll_to is not None:
            self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", scroll_to)
            time.sleep(0.3)
        path = self.shots / f"{name}.png"
        self.driver.save_screenshot(str(path))
        return path

    def field(self, *titles: str) -> WebElement:
        """The form property reached through these titles (each inside the previous)."""
        element: Any = self.driver
        for title in titles:
            element = element.find_element(By.XPATH, _label(title))
        return element

    def _again(self, what: str, step: Callable[[], Any]) -> Any:
        """`step()`, repeated while the UI re-renders under it (the form redraws after each
        change, so an element found a moment ago may be gone): fields are found again by
        their titles on each try."""
        for _ in range(10):
            try:
                return step()
            except (StaleElementReferenceException, ElementClickInterceptedException):
                time.sleep(0.5)
        self.screenshot(f"failed-{what.replace(' ', '-')}")
        raise AssertionError(f"could not {what}: the form kept changing")

    def choose_type(self, titles: tuple[str, ...], name: str) -> None:
        """An optional object shows a choice (its type or None): pick the type."""

        def step() -> bool:
            self.field(*titles).find_element(
                By.XPATH, f".//button[normalize-space()='{name}']"
            ).click()
            return True

        self._again(f"choose {name}", step)
        self.wait_for(
            f"the fields of {name}",
            lambda: self._again(
                "read the form",
                lambda: self.field(*titles).find_elements(
                    By.CSS_SELECTOR, ".schema-form-property .schema-form-property"
                ),
            ),
            timeout=10,
        )

    def select(self, titles: tuple[str, ...], *values: str) -> None:
        def step() -> bool:
            control = self.field(*titles).find_element(By.TAG_NAME, "select")
            self.driver.execute_script(
                "const [sel, wanted] = arguments;"
                "for (const o of sel.options) o.selected = wanted.includes(o.value);"
                "sel.dispatchEvent(new Event('change', {bubbles: true}));",
                control,
                list(values),
            )
            return True

        self._again(f"select {values} in {titles}", step)

    def type(self, titles: tuple[str, ...], text: str) -> None:
        def step() -> bool:
            control = self.field(*titles).find_element(
                By.CSS_SELECTOR, "textarea, input:not([type=checkbox])"
            )
            control.clear()
            control.send_keys(text)
            return True

        self._again(f"type into {titles}", step)

    def switch(self, titles: tuple[str, ...], on: bool) -> None:
        def state() -> bool:
            toggle = self.field(*titles).find_element(By.CSS_SELECTOR, "label[role=switch]")
            return (toggle.get_attribute("aria-checked") == "true") == on

        def step() -> bool:
            if not state():
                toggle = self.field(*titles).find_element(By.CSS_SELECTOR, "label[role=switch]")
                self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", toggle)
                toggle.click()
            return True

        for _ in range(3):
            if self._again(f"read {titles}", state):
                return
            self._again(f"switch {titles}", step)
            try:
                self.wait_for(f"{titles} to flip", lambda: self._again("read", state), timeout=5)
            except AssertionError:
                continue
        assert self._again(f"read {titles}", state), f"{titles} did not flip"

    def click(self, text: str, root: WebElement | None = None) -> None:
        scope: Any = root or self.driver
        button = scope.find_element(By.XPATH, f".//button[normalize-space()='{text}']")
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
        button.click()

    def submit(self, text: str, what: str, done: Callable[[], Any], timeout: float = 60) -> Any:
        """Click `text` and wait for `done()`. A click the form did not take (on two busy
        cores the button can be clicked while the form redraws) leaves the page where it
        was: after 20 s with nothing done and the page unchanged, it is clicked once more."""
        page = self.driver.current_url
        self.click(text)
        found = _poll(done, 20)
        if found:
            return found
        if self.driver.current_url == page:
            self.screenshot(f"not-taken-{what.replace(' ', '-')}")
            self._again(f"click {text}", lambda: self.click(text) or True)
        return self.wait_for(what, done, timeout)

    def text_of(self, xpath: str) -> str:
        """The visible text of the elements at `xpath`, spaces collapsed; "" while they
        re-render."""
        try:
            found = self.driver.find_elements(By.XPATH, xpath)
            return " ".join(" ".join(e.text.split()) for e in found)
        except StaleElementReferenceException:
            return ""

    def wait_for(self, what: str, check: Callable[[], Any], timeout: float = 60) -> Any:
        found = _poll(check, timeout)
        if found:
            return found
        self.screenshot(f"timeout-{what.replace(' ', '-')}")
        page = self.text_of("//body")[:600]
        raise AssertionError(f"timed out waiting for {what}; the page said: {page}")


def _poll(check: Callable[[], Any], seconds: float) -> Any:
    """`check()`'s first truthy answer within `seconds` (asked every half second), or None."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    return None
