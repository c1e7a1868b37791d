"""Install the appliance daemon, its tools and its C extension (built by cffi at install)."""

from setuptools import find_packages, setup

setup(
    name="lab-appliance",
    version="0.1.0",
    description="Customer-service appliance for medical-lab receptions (phone line, GSM/SMS, MQTT sync)",
    python_requires=">=3.11",
    packages=find_packages(include=["appliance", "appliance.*", "sync", "sync.*", "firmware_tools", "firmware_tools.*"]),
    package_data={
        "appliance": ["store/migrations/*.sql", "store/migrations/down/*.sql", "web/templates/*", "web/static/*", "py.typed"],
        "sync": ["schemas/*.json"],
    },
    setup_requires=["cffi>=1.16,<3"],
    cffi_modules=["native/build_native.py:ffibuilder"],
    # Run time only: what `make run` and scripts/install-pi.sh put on a box. Upper bounds keep a
    # fresh install on versions of the same major line; constraints.txt pins what was tested.
    install_requires=[
        "cffi>=1.16,<3",
        "pyserial>=3.5,<4",
        "sqlite-utils>=3.36,<5",
        "paho-mqtt>=2.1,<3",
        "aiohttp>=3.9,<4",
        "jinja2>=3.1,<4",
        "prometheus-client>=0.20,<1",
        "phonenumbers>=8.13,<10",
        "jsonschema>=4.20,<5",
        "audioop-lts>=0.2,<1; python_version>='3.13'",
        "systemd-python>=235,<236; sys_platform=='linux'",
        "pyusb>=1.2,<2",  # the usbbox line driver (appliance/line/usbbox.py) finds its box by USB id
    ],
    extras_require={
        # the front-panel GPIO: not imported by any code yet
        "hardware": ["gpiozero>=2.0,<3"],
        "test": [
            "pytest>=8,<10",
            "pytest-timeout>=2.2,<3",
            "pytest-random-order>=1.1,<2",  # tests/web + tests/backbone must pass in any order
            "hypothesis>=6.100,<7",
            "numpy>=1.26,<3",
            "playwright>=1.45,<2",
            "ruff==0.17.6",  # pinned: `make test` lints, and new rules must not break CI by surprise
            "mypy==2.4.1",
            # independent SMS PDU codecs that cross-check appliance.sms.pdu (tests/sms_pdu)
            "smspdudecoder>=2.2,<3",
            "bitstring>=4.1,<5",  # smspdudecoder 2.2 imports BitStream, gone in bitstring 5
            "python-gsmmodem-new>=0.13,<1",
            "psycopg[binary]>=3.1,<4",
            "gpiozero>=2.0,<3",
        ],
        "postgres": ["psycopg[binary]>=3.1,<4"],
    },
    entry_points={
        "console_scripts": [
            "appliance=appliance.cli.main:main",
            "appliance-tools=firmware_tools.main:main",
            "appliance-central=sync.central.main:main",
        ],
    },
    zip_safe=False,
)
